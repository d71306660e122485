"""The archiver: final bundles of every event into day-sharded HDF5 data sets."""
