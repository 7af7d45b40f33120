from . import join
from . import portal
from . import live
