//! Volume standardization: MRC / OME-Zarr pyramids, masks and key images.
