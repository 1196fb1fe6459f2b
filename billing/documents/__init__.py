"""Invoice documents: the XRechnung (UBL 2.1) file, its checks and the PDF."""
