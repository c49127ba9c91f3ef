"""kernels: pure-JAX sequence memory (linear recurrences, S5, S4D, selective scan, GRU/LSTM). Knows nothing of RL.

Public API:
    linear_recurrence(a, b, resets=None, h0=None, *, method="auto")   the diagonal recurrence with resets
    make_memory(name, num_layers=1, **options)                         a memory cell by name (MEMORY_NAMES)
    ssm_optimizer(base_lr, ssm_lr=None, weight_decay=0.0)              optax groups: SSM params apart
Cells: S5Cell, S4DCell, SelectiveCell, GRUCell, LSTMCell, NoMemory, StackedCell (interface in kernels/cell.py).
"""

from kernels.cell import MemoryCell
from kernels.memory import MEMORY_NAMES, NoMemory, StackedCell, make_memory
from kernels.optim import ssm_optimizer, ssm_param_labels
from kernels.recurrence import METHODS, default_method, linear_recurrence, set_default_method
from kernels.rnn import GRUCell, LSTMCell
from kernels.s4d import S4DCell
from kernels.s5 import S5Cell
from kernels.selective import SelectiveCell

__all__ = [
    "MEMORY_NAMES",
    "METHODS",
    "GRUCell",
    "LSTMCell",
    "MemoryCell",
    "NoMemory",
    "S4DCell",
    "S5Cell",
    "SelectiveCell",
    "StackedCell",
    "default_method",
    "linear_recurrence",
    "make_memory",
    "set_default_method",
    "ssm_optimizer",
    "ssm_param_labels",
]
