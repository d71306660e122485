"""Figure size shared by the data figures: 950 x 450 px at 100 dpi, any dpi for print."""

FIGSIZE = (9.5, 4.5)  # inches
DEFAULT_DPI = 100
