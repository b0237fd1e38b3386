//! PDND/ModI (built in a later step).
