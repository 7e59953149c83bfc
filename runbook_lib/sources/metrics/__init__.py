"""sources/metrics"""
