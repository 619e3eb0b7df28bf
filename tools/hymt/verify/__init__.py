"""`hymt verify`: prove a deployment works, and claim nothing it did not see.

Two halves, one report: from outside through the public URL (http.py: page, health, the declared profile, real
translations judged for copying and language, streaming, the error contract; exposure.py: nothing of vLLM answers;
tls.py: certificate, redirect, HSTS), and on each host over SSH (ssh.py, host.py: gpu.py's nvidia-smi, driver verdict
and GPU test in the vLLM image; stack.py's services, restarts, vLLM from inside, model check, disk; ports.py's view
from outside; testinfra.py's suite). run.py puts them together; result.py decides what counts as verified.
"""
