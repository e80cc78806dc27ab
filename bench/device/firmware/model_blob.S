/* The generated model blob (weights, biases, thresholds; models.py), linked into flash. */
    .section .rodata.model_blob, "a"
    .balign 16
    .global model_blob
model_blob:
    .incbin MODEL_BIN
    .global model_blob_end
model_blob_end:
    .section .note.GNU-stack, "", %progbits
