# Dead code: the kernel refuses instructions no path reaches, and so do we.
mov64 r0, 0
exit
mov64 r0, 1
exit
