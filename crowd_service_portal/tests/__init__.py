from . import test_portal
from . import test_portal_models
from . import test_portal_day
