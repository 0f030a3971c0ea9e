// zentalk-node: the ZenTalk storage node. `zentalk-node --help` lists the options; docs/rest-api.md describes the API.
using ZenTalk.StorageNode;

return await NodeProgram.RunAsync(args, Console.Out, Console.Error);
