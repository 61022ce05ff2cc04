"""pytest runs the unit tests and every notebook (nbval, lax mode) in the smoke profile.

Environment variables set here reach the notebook kernels that nbval starts.
"""
import os

os.environ.setdefault("TUTORIAL_PROFILE", "smoke")
os.environ.setdefault("MPLBACKEND", "Agg")  # unit tests draw headless; kernels use the inline backend
