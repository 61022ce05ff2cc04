"""pytest runs the unit tests and every notebook (nbval, lax mode) in the smoke profile.

Environment variables set here reach the notebook kernels that nbval starts. (No MPLBACKEND here: the
kernels must draw with the inline backend, as in JupyterLab; headless unit tests get Agg by themselves.)
"""
import os

os.environ.setdefault("TUTORIAL_PROFILE", "smoke")
