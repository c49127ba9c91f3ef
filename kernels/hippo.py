"""HiPPO-LegS and its diagonalisation, the eigenvalue/eigenvector init of S5.

HiPPO: Gu et al. 2020; S5: Smith, Warrington & Linderman 2023, "Simplified State Space Layers for Sequence
Modeling".

Host-side numpy (float64): this runs once at init time, its results are constants.
"""

from __future__ import annotations

import numpy as np


def hippo_legs(size: int) -> np.ndarray:
    """A[n, k] = -sqrt((2n+1)(2k+1)) for n > k, -(n+1) on the diagonal, 0 above. Shape [size, size]."""
    n = np.arange(size)
    root = np.sqrt(2 * n + 1)
    a = -np.tril(np.outer(root, root), k=-1) - np.diag(n + 1)
    return a


def hippo_normal_part(size: int) -> np.ndarray:
    """S = A + p p^T with p_n = sqrt(n + 1/2); equals -I/2 + K with K skew-symmetric."""
    p = np.sqrt(np.arange(size) + 0.5)
    return hippo_legs(size) + np.outer(p, p)


def diagonalise_normal_hippo(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues lambda [size] (all Re = -1/2) and unitary eigenvectors V [size, size] of S = V diag(lambda) V^H.

    `eigh` runs on the Hermitian -iK built explicitly from the skew part, never on the non-Hermitian -iS
    (eigh reads one triangle and assumes a Hermitian matrix, so on -iS it would silently decompose another one).
    Eigenvalues are ordered by decreasing imaginary part, so the first size/2 hold one of each conjugate pair.
    """
    s = hippo_normal_part(size)
    skew = 0.5 * (s - s.T)
    omega, v = np.linalg.eigh(-1j * skew)
    order = np.argsort(-omega)
    return -0.5 + 1j * omega[order], v[:, order]


def block_diagonal_hippo(size: int, blocks: int, keep_conjugate_half: bool = True):
    """`blocks` copies of a size/blocks HiPPO on the diagonal: (lambda [P], V [size, P]).

    With `keep_conjugate_half`, P = size/2: one eigenvalue of each conjugate pair per block and its column of V.
    """
    if size % blocks or (size // blocks) % 2:
        raise ValueError(f"ssm size {size} must split into {blocks} blocks of even size")
    block = size // blocks
    lam, v = diagonalise_normal_hippo(block)
    keep = block // 2 if keep_conjugate_half else block
    lam, v = lam[:keep], v[:, :keep]
    lambdas = np.tile(lam, blocks)
    vs = np.zeros((size, blocks * keep), dtype=np.complex128)
    for j in range(blocks):
        vs[j * block : (j + 1) * block, j * keep : (j + 1) * keep] = v
    return lambdas, vs
