from . import crowd_dispatch_report
