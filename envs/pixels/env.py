"""`PixelEnv`: a `pixels:` task rendered to RGB frames over a distractor background, as a `JaxEnv`.

Each agent step holds the action for `action_repeat` physics steps (the task and the distractor both advance
every physics step), sums their rewards, and renders one frame. Summing follows the Control Suite convention of
Dreamer-style agents, so an agent step's reward lies in [0, action_repeat]. Rendering once per agent step, not
once per physics step, is why the repeat lives here rather than in `envs.ActionRepeat`. The time limit counts
agent steps, `1000 // action_repeat` by default (1000 physics steps, the Control Suite's episode). Episodes
never terminate.

`info`, at reset and every step (from the state the step reached, like `final_obs`):
    task_state        [S]  the task's full physical state (`PixelEnv.task.state_names`)
    task_features     [F]  the same state as probe targets, angles as (cos, sin) (`task.feature_names`)
    task_invariant_features [F]  pendulum_swingup only: `task_features` up to the mirror image (tasks.py)
    distractor_state  [D]  none, noise: D = 0; shapes: the N shape centres (x, y) in view coordinates
                           ([-1, 1]^2, x right, y up), D = 2N; video: the texture's scroll offset, D = 2;
                           color: the body's and the floor's RGB, D = 6
    distractor_features [G]  `distractor_state` as a linear probe can read it: shapes, a 4 x 4 density map of
                           the centres (G = 16); otherwise `distractor_state` itself
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from envs.pixels.distractors import DISTRACTORS, Color, NoDistractor, Noise, Shapes, Video
from envs.pixels.palettes import PALETTES
from envs.pixels.render import pixel_grid, to_uint8
from envs.pixels.scene import draw_parts
from envs.pixels.tasks import TASKS
from envs.protocol import JaxEnv
from envs.spaces import Box

DEFAULT_SIZE = 32
DEFAULT_ACTION_REPEAT = 2
DEFAULT_NUM_SHAPES = 6
PHYSICS_STEPS_PER_EPISODE = 1000
SIZES = (16, 256)  # the smallest and largest frame side accepted; 32 and 64 are the tested ones
MAX_SHAPES = 16


class PixelOptionError(ValueError):
    """A `pixels:` option with a value the family does not take; the message names the accepted ones."""


@struct.dataclass
class PixelState:
    task: jax.Array  # [S] the task's physical state
    distractor: Any  # the distractor's state (envs/pixels/distractors.py)


@dataclass(frozen=True)
class PixelEnv(JaxEnv):
    task_name: str = "pendulum_swingup"
    size: int = DEFAULT_SIZE
    distractor: str = "none"
    palette: str = "A"
    num_shapes: int | None = None  # only with distractor="shapes"; DEFAULT_NUM_SHAPES when left out
    action_repeat: int = DEFAULT_ACTION_REPEAT
    max_episode_steps: int | None = None  # agent steps; PHYSICS_STEPS_PER_EPISODE // action_repeat when left out
    task: Any = field(init=False, repr=False, compare=False)  # the task object named by task_name (tasks.py)
    background: Any = field(init=False, repr=False, compare=False)  # the distractor object (distractors.py)

    def __post_init__(self):
        check_options(self)
        object.__setattr__(self, "task", TASKS[self.task_name]())
        object.__setattr__(self, "background", make_distractor(self.distractor, self.num_shapes))
        if self.max_episode_steps is None:
            object.__setattr__(self, "max_episode_steps", max(PHYSICS_STEPS_PER_EPISODE // self.action_repeat, 1))

    @property
    def name(self) -> str:
        return f"pixels:{self.task_name}"

    @property
    def observation_space(self) -> Box:
        return Box.uniform(0, 255, (self.size, self.size, 3), np.uint8)

    @property
    def action_space(self) -> Box:
        return Box.uniform(-1.0, 1.0, (self.task.action_dim,))

    # --- JaxEnv ------------------------------------------------------------------------------------------------
    def initial_state(self, key: jax.Array) -> PixelState:
        task_key, distractor_key = jax.random.split(key)
        return PixelState(self.task.initial_state(task_key),
                          self.background.initial_state(distractor_key, self.palette.upper()))

    def transition(self, state: PixelState, action: jax.Array, key: jax.Array):
        del key  # the tasks and the distractors' motions are deterministic; noise is drawn when observing
        action = jnp.reshape(action, (self.task.action_dim,)).astype(jnp.float32)

        def physics_step(carry, _):
            task, distractor = carry
            task = self.task.physics_step(task, action)
            return (task, self.background.step(distractor)), self.task.reward(task, action)

        (task, distractor), rewards = jax.lax.scan(physics_step, (state.task, state.distractor), None,
                                                   length=self.action_repeat)
        return PixelState(task, distractor), jnp.sum(rewards), jnp.zeros((), bool)

    def observe(self, state: PixelState, key: jax.Array) -> jax.Array:
        return to_uint8(self.render(state, key))

    def extra_info(self, state: PixelState) -> dict[str, jax.Array]:
        info = {"task_state": state.task.astype(jnp.float32),
                "task_features": self.task.features(state.task).astype(jnp.float32),
                "distractor_state": self.background.info(state.distractor).astype(jnp.float32),
                "distractor_features": self.background.features(state.distractor).astype(jnp.float32)}
        if hasattr(self.task, "invariant_features"):
            info["task_invariant_features"] = self.task.invariant_features(state.task).astype(jnp.float32)
        return info

    # --- rendering ---------------------------------------------------------------------------------------------
    def render(self, state: PixelState, key: jax.Array) -> jax.Array:
        """The frame as floats `[size, size, 3]` in [0, 1] (before rounding to uint8)."""
        points = pixel_grid(self.size)
        colours = self.background.colours(state.distractor)
        image = self.background.background(state.distractor, points, colours, key)
        view = self.task.view
        pixel = 2.0 * view.half_extent / self.size
        return draw_parts(image, self.task.parts(view.to_world(points), state.task), colours, pixel)


def make_distractor(name: str, num_shapes: int | None) -> NoDistractor:
    if name == "shapes":
        return Shapes(num_shapes=DEFAULT_NUM_SHAPES if num_shapes is None else num_shapes)
    return {"none": NoDistractor, "noise": Noise, "video": Video, "color": Color}[name]()


def _is_int(value) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


def check_options(env: PixelEnv) -> None:
    """One-line errors for option values the family does not take (an unknown task is the registry's error)."""
    if env.task_name not in TASKS:
        raise PixelOptionError(f"unknown pixels task {env.task_name!r}; known: {', '.join(TASKS)}")
    if not _is_int(env.size) or not SIZES[0] <= env.size <= SIZES[1]:
        raise PixelOptionError(f"pixels size must be an integer from {SIZES[0]} to {SIZES[1]} (frames are size x size;"
                               f" 32 and 64 are the usual ones), got {env.size!r}")
    if env.distractor not in DISTRACTORS:
        raise PixelOptionError(f"unknown pixels distractor {env.distractor!r}; known: {', '.join(DISTRACTORS)}")
    if not isinstance(env.palette, str) or env.palette.upper() not in PALETTES:
        raise PixelOptionError(f"pixels palette must be one of {', '.join(PALETTES)} (A to train, B to test), "
                               f"got {env.palette!r}")
    if env.num_shapes is not None:
        if env.distractor != "shapes":
            raise PixelOptionError(f"num_shapes applies to distractor=shapes only, not distractor={env.distractor}")
        if not _is_int(env.num_shapes) or not 1 <= env.num_shapes <= MAX_SHAPES:
            raise PixelOptionError(f"pixels num_shapes must be an integer from 1 to {MAX_SHAPES}, "
                                   f"got {env.num_shapes!r}")
    if not _is_int(env.action_repeat) or env.action_repeat < 1:
        raise PixelOptionError(f"pixels action_repeat must be a positive integer, got {env.action_repeat!r}")
    if env.max_episode_steps is not None and (not _is_int(env.max_episode_steps) or env.max_episode_steps < 1):
        raise PixelOptionError(f"pixels max_episode_steps must be a positive integer, got {env.max_episode_steps!r}")
