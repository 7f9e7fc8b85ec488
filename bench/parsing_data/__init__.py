"""Documents and ground truth of the parsing benchmark (``bench/parsing.py``)."""
