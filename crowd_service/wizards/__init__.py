from . import crowd_expert_state_wizard
