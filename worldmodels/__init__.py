"""worldmodels: learned latent dynamics for pixel control. `rssm` is the recurrent state-space core both models
share; `decoder_rssm` is Dreamer's world model (pixel reconstruction); `hrssm` is HRSSM (cube-masked online
branch, EMA raw branch, latent reconstruction, bisimulation). See docs/worldmodels.md."""
