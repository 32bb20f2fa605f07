# Writes the shell completion scripts with the built binary:
#   cmake -DLLMDO=path/to/llmdo -DOUT=dir -P completions.cmake
foreach(pair "bash;llmdo" "zsh;_llmdo" "fish;llmdo.fish")
  list(GET pair 0 shell)
  list(GET pair 1 file)
  execute_process(COMMAND ${LLMDO} completion ${shell} OUTPUT_FILE ${OUT}/${file} RESULT_VARIABLE status)
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "llmdo completion ${shell} failed (${status})")
  endif()
endforeach()
