import Trainer

// Before anything touches OpenBLAS: pick its fast kernels on CPUs it misdetects.
BLASEnvironment.ensureFastKernels()
TrainTool.main()
