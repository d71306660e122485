"""Data: real-record preprocessing (ObsPy), focal-sphere grouping and the HDF5 data-set format.

Nothing here imports torch.
"""
