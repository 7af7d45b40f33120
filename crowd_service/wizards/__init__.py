from . import crowd_assign_wizard
