"""The cube mask hides the configured share of patches, one mask per block of frames, drawn per sequence."""

import jax
import numpy as np
import pytest

from worldmodels.masking import cube_mask

SIZE, PATCH, LENGTH, BATCH, BLOCK = 32, 8, 12, 3, 4  # a 4x4 grid of patches, 3 blocks


def patches(mask: np.ndarray) -> np.ndarray:
    """`[T, B, H, W]` pixel mask -> `[T, B, G, G]` patch mask, checking each patch is all hidden or all shown."""
    grid = SIZE // PATCH
    cells = mask.reshape(*mask.shape[:2], grid, PATCH, grid, PATCH)
    assert np.all(cells.min(axis=(3, 5)) == cells.max(axis=(3, 5))), "a patch is partly hidden"
    return cells[:, :, :, 0, :, 0]


@pytest.mark.parametrize("ratio, hidden", [(0.5, 8), (0.3, 4), (0.0, 0)])
def test_every_frame_hides_floor_ratio_of_the_patches(ratio, hidden):
    mask = np.asarray(cube_mask(jax.random.PRNGKey(0), LENGTH, BATCH, SIZE, PATCH, ratio, BLOCK))
    assert mask.shape == (LENGTH, BATCH, SIZE, SIZE)
    np.testing.assert_array_equal(patches(mask).sum(axis=(2, 3)), hidden)
    np.testing.assert_allclose(mask.mean(axis=(2, 3)), hidden / 16)


def test_frames_of_a_block_share_a_mask_and_blocks_and_sequences_differ():
    mask = patches(np.asarray(cube_mask(jax.random.PRNGKey(1), LENGTH, BATCH, SIZE, PATCH, 0.5, BLOCK)))
    blocks = mask.reshape(LENGTH // BLOCK, BLOCK, BATCH, 4, 4)
    np.testing.assert_array_equal(blocks, np.broadcast_to(blocks[:, :1], blocks.shape))
    assert not np.array_equal(blocks[0, 0], blocks[1, 0]), "each block draws its own patches"
    assert not np.array_equal(mask[:, 0], mask[:, 1]), "each sequence draws its own masks"


def test_one_mask_for_the_batch_when_not_per_sequence():
    mask = np.asarray(cube_mask(jax.random.PRNGKey(2), LENGTH, BATCH, SIZE, PATCH, 0.5, BLOCK, per_sequence=False))
    np.testing.assert_array_equal(mask, np.broadcast_to(mask[:, :1], mask.shape))


def test_uneven_patches_and_blocks_are_refused():
    with pytest.raises(ValueError, match="patch size 10 does not divide the image side 32"):
        cube_mask(jax.random.PRNGKey(0), LENGTH, BATCH, SIZE, 10, 0.5, BLOCK)
    with pytest.raises(ValueError, match="block of 5 frames"):
        cube_mask(jax.random.PRNGKey(0), LENGTH, BATCH, SIZE, PATCH, 0.5, 5)
