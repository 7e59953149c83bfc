"""sources/logs"""
