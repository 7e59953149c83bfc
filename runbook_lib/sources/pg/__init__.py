"""sources/pg"""
