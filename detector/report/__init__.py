"""What a person looks at: figures, the page kit, the night report and the methods text."""


def __getattr__(name: str):  # the names of legtwitch 0.1's detector.report module
    from detector.moved import moved_attribute

    return moved_attribute("detector.report", name)
