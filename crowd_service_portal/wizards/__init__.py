from . import crowd_expert_state_wizard
from . import crowd_join_invite_wizard
