"""The sweeper and launchers Hydra discovers (``hydra/sweeper=ermlab``,
``hydra/launcher=serial|joblib|ray``): thin names for the classes in :mod:`ermlab.sweeps`,
where the logic and its documentation live. Hydra instantiates plugins only from this
namespace."""

from ermlab.sweeps import launch, sweeper


class ErmlabSweeper(sweeper.SweepFolderSweeper):
    """See :class:`ermlab.sweeps.sweeper.SweepFolderSweeper`."""


class ErmlabSerialLauncher(launch.SerialLauncher):
    """See :class:`ermlab.sweeps.launch.SerialLauncher`."""


class ErmlabJoblibLauncher(launch.JoblibLauncher):
    """See :class:`ermlab.sweeps.launch.JoblibLauncher`."""


class ErmlabRayLauncher(launch.RayLauncher):
    """See :class:`ermlab.sweeps.launch.RayLauncher`."""
