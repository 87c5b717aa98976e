"""With a star import, a new run-time import could shadow a star-imported name: every import goes under
TYPE_CHECKING and annotations that Python evaluates are quoted."""
from os.path import *


def size(path, follow):
    return getsize(path)
