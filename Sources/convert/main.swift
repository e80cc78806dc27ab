ConvertTool.main()
