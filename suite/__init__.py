"""edgebench.suite: the part of edgebench that runs inside a device image.

Standard library, numpy, psutil and one inference runtime only; must import on Python 3.6.
"""

__version__ = "0.1.0"
