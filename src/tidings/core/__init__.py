"""The ground floor: the contracts every plug-in stands on. Imports nothing of Tidings above it."""
