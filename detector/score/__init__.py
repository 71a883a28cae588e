"""Scoring detected movements: the PLM rules (WASM/IRLSSG 2016, AASM 2012), night metrics, the rest
window and the article category. Pure functions of event tables; no file is read or written here."""
