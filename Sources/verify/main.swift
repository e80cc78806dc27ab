VerifyTool.main()
