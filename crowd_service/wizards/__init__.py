from . import crowd_expert_state_wizard
from . import crowd_assign_wizard
from . import crowd_batch_assign_wizard
from . import crowd_recruit_wizard
from . import crowd_plan_wizard
