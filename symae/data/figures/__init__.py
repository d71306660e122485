"""Data figures (matplotlib PNG): record sections and focal-sphere pixel occupancy.

Figures are 9.5 x 4.5 inches: 950 x 450 px at the default 100 dpi, the same layout at
any higher ``dpi`` for print.
"""

from symae.data.figures.layout import DEFAULT_DPI, FIGSIZE
from symae.data.figures.occupancy import pixel_counts, plot_pixel_occupancy
from symae.data.figures.record_section import plot_record_section

__all__ = ["DEFAULT_DPI", "FIGSIZE", "pixel_counts", "plot_pixel_occupancy", "plot_record_section"]
