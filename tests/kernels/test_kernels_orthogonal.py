"""The QR-free orthogonal init: the matrix QR would give, and no LAPACK call in the compiled programs using it."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import envs
from envs.pomdp import meta
from kernels import blocks, make_memory


@pytest.mark.parametrize("shape", [(6, 6), (7, 3), (3, 7)])
def test_gram_schmidt_gives_the_matrix_of_qr_with_sign_correction(shape):
    key = jax.random.PRNGKey(3)
    ours = blocks.orthogonal(gain=2.0)(key, shape)
    theirs = jax.nn.initializers.orthogonal(scale=2.0)(key, shape, jnp.float32)
    np.testing.assert_allclose(ours, theirs, atol=1e-5)
    np.testing.assert_allclose(meta._random_orthogonal(key, *shape) * 2.0, theirs, atol=1e-5)


@pytest.mark.parametrize("memory", ["gru", "lstm"])
def test_recurrent_init_compiles_without_a_lapack_call(memory):
    """QR inside a compiled `jit(vmap(train))` deadlocked on its second call on this CPU (kernels.blocks)."""
    cell = make_memory(memory, hidden_size=16)
    hlo = jax.jit(lambda key: cell.init(key, 4)).lower(jax.random.PRNGKey(0)).as_text()
    assert "custom_call" not in hlo


def test_meta_projection_reset_compiles_without_a_lapack_call():
    env = envs.make("pomdp:ProjectedCartPole")
    hlo = jax.jit(env.reset).lower(jax.random.PRNGKey(0)).as_text()
    assert "custom_call" not in hlo
