from . import crowd_dispatch_report
from . import crowd_coverage_report
