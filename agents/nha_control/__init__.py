"""`--agent nha_control`: control with neural hybrid automata (Poli et al. 2021), the two uses of the paper.

- `hybrid:unicycle_resources`: hierarchical mode selection (targets.py), a REINFORCE policy over five resource
  targets above an MLP controller trained through a differentiable rollout.
- `hybrid:bouncing_ball_paddle`: CEM model-predictive control planned on an NHA fitted to random-push data
  (paddle.py).

Every step of `--total-steps` is a gradient step (core/loops/self_supervised.py); the env is stepped only to
collect the paddle's data and to evaluate.
"""
