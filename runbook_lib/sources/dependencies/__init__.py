"""sources/dependencies"""
