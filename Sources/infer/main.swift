InferTool.main()
