"""Tuning and validation: the notebook results object, comparison with reference scorings,
evaluation, parameter sweeps, notebook views and detection quality per simulated situation."""


def __getattr__(name: str):  # the names of legtwitch 0.1's detector.tuning module
    from detector.moved import moved_attribute

    return moved_attribute("detector.tuning", name)
