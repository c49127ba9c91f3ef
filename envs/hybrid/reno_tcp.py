"""Reno TCP as a stochastic hybrid system, simulated exactly: the window w and the packets sent s.

Modes: 0 off, 1 slow start (SS), 2 congestion avoidance (CA). Flows: off holds (w, s); SS grows
w' = ln2 w / (n_ack RTT), s' = w / RTT; CA grows w' = 1 / (n_ack RTT), s' = w / RTT. Both have closed forms.

Events are clocks: each outgoing transition integrates its intensity and fires when that integral crosses its own
Exp(1) threshold, all thresholds drawn afresh at every mode entry. The intensities (off->SS 1/tau_off; SS->off and
CA->off w/(k RTT); SS->CA and CA->CA p_drop w/RTT) integrate in closed form along the flows, so each crossing time
is solved exactly, and there is no cap on the number of events. Jumps: off->SS sets (w, s) = (w0, 0); ->off sets
(0, 0); SS->CA and CA->CA halve w.

The first event with the smallest crossing time wins, which is the exact semantics of competing clocks; the
survival of a mode is then the product of its clocks' survivals (`survival`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from envs.hybrid.records import Trajectories, boundaries_from_modes, pad_events

OFF, SLOW_START, CONGESTION_AVOIDANCE = 0, 1, 2


@dataclass(frozen=True)
class RenoTCP:
    rtt: float = 1.0
    n_ack: float = 2.0
    p_drop: float = 0.05
    k: float = 20.0
    tau_off: float = 3.0
    w0: float = 0.693
    horizon: float = 100.0
    samples: int = 2000

    name = "reno_tcp"
    mode_names = ("off", "slow_start", "congestion_avoidance")
    flow_inputs = (0,)  # every flow reads w only
    has_controls = False

    # --- the model's pieces ---------------------------------------------------------------------------------
    @property
    def growth(self) -> float:
        """SS's exponential rate ln2 / (n_ack RTT)."""
        return np.log(2.0) / (self.n_ack * self.rtt)

    @property
    def slope(self) -> float:
        """CA's window slope 1 / (n_ack RTT)."""
        return 1.0 / (self.n_ack * self.rtt)

    def clocks(self, mode: int) -> list[tuple[int, float, bool]]:
        """Outgoing transitions of `mode`: (target, coefficient, proportional to w)."""
        per_w_off, per_w_drop = 1.0 / (self.k * self.rtt), self.p_drop / self.rtt
        return {OFF: [(SLOW_START, 1.0 / self.tau_off, False)],
                SLOW_START: [(OFF, per_w_off, True), (CONGESTION_AVOIDANCE, per_w_drop, True)],
                CONGESTION_AVOIDANCE: [(CONGESTION_AVOIDANCE, per_w_drop, True), (OFF, per_w_off, True)]}[mode]

    def flow(self, mode: int, x_plus: np.ndarray, tau: np.ndarray) -> np.ndarray:
        """States [len(tau), 2] at times `tau` after entering `mode` at `x_plus`."""
        w, s = x_plus
        tau = np.asarray(tau, float)
        if mode == SLOW_START:
            grown = np.expm1(self.growth * tau)
            return np.stack([w * (1 + grown), s + w / self.rtt * grown / self.growth], -1)
        if mode == CONGESTION_AVOIDANCE:
            return np.stack([w + self.slope * tau, s + (w * tau + 0.5 * self.slope * tau**2) / self.rtt], -1)
        return np.broadcast_to(np.asarray(x_plus, float), (*tau.shape, 2)).copy()

    def crossing_time(self, mode: int, coefficient: float, per_w: bool, w: float, threshold: float) -> float:
        """The time at which the clock's integrated intensity reaches `threshold`."""
        if not per_w:
            return threshold / coefficient
        if mode == SLOW_START:  # coefficient * w (e^{g tau} - 1) / g = E
            return np.log1p(threshold * self.growth / (coefficient * w)) / self.growth
        # CA: coefficient (w tau + slope tau^2 / 2) = E
        return (-w + np.sqrt(w * w + 2 * self.slope * threshold / coefficient)) / self.slope

    def jump(self, source: int, target: int, x: np.ndarray) -> np.ndarray:
        if target == OFF:
            return np.zeros(2)
        if source == OFF:
            return np.array([self.w0, 0.0])
        return np.array([x[0] / 2, x[1]])

    def survival(self, mode: int, w_plus: float, tau: np.ndarray) -> np.ndarray:
        """P(sojourn > tau) on entering `mode` with window `w_plus`: the exact law the data follow."""
        tau = np.asarray(tau, float)
        clocks = self.clocks(mode)
        total = sum(c for _, c, _ in clocks)
        if mode == OFF:
            return np.exp(-total * tau)
        if mode == SLOW_START:
            return np.exp(-total * w_plus * np.expm1(self.growth * tau) / self.growth)
        return np.exp(-total * (w_plus * tau + 0.5 * self.slope * tau**2))

    # --- data ---------------------------------------------------------------------------------------------------
    def generate(self, count: int, seed: int = 0) -> Trajectories:
        """`count` trajectories on an even grid over [0, horizon], each starting off at (0, 0)."""
        rng = np.random.default_rng(seed)
        grid = np.linspace(0.0, self.horizon, self.samples)
        x, mode = np.zeros((count, self.samples, 2)), np.zeros((count, self.samples), int)
        jumped = np.zeros((count, self.samples), bool)
        logs = []
        for i in range(count):
            x[i], mode[i], jumped[i], events = self._one(grid, rng)
            logs.append(events)
        return Trajectories(np.broadcast_to(grid, (count, self.samples)).copy(), x, mode,
                            boundaries_from_modes(mode, jumped), events=pad_events(logs, 2))

    def _one(self, grid: np.ndarray, rng: np.random.Generator):
        x_out, mode_out = np.zeros((grid.size, 2)), np.zeros(grid.size, int)
        jumped = np.zeros(grid.size, bool)
        t, mode, state, events = 0.0, OFF, np.zeros(2), []
        while t < self.horizon:
            clocks = self.clocks(mode)
            thresholds = rng.exponential(size=len(clocks))
            times = [self.crossing_time(mode, c, per_w, state[0], e) for (_, c, per_w), e in zip(clocks, thresholds)]
            first = int(np.argmin(times))
            t_next = t + times[first]
            inside = (grid >= t) & (grid < t_next)
            x_out[inside] = self.flow(mode, state, grid[inside] - t)
            mode_out[inside] = mode
            if t_next >= self.horizon:
                break
            before = self.flow(mode, state, np.array([times[first]]))[0]
            target = clocks[first][0]
            state = self.jump(mode, target, before)
            events.append((t_next, mode, target, before, state))
            # A sample after this event starts a new segment even when the mode is the same (CA -> CA).
            jumped[np.searchsorted(grid, t_next):][:1] = True
            t, mode = t_next, target
        return x_out, mode_out, jumped, events
