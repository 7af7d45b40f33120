from . import test_join
from . import test_join_concurrency
from . import test_join_models
from . import test_portal
from . import test_portal_models
from . import test_rpc_security
from . import test_scorecard

from . import test_live
from . import test_portal_home
from . import test_portal_day
