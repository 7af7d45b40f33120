from . import join
from . import portal
