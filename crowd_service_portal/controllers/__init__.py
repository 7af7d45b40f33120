from . import portal
from . import live
