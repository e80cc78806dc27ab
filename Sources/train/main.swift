import Trainer

// Before anything touches OpenBLAS: pick its fast kernels on CPUs it misdetects.
BLASEnvironment.ensureFastKernels()
// Freed buffers stay mapped for the next pass instead of faulting in again (MallocPolicy.swift).
MallocPolicy.keepFreedMemory()
TrainTool.main()
