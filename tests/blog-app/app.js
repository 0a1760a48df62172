// The blog's app.js, reduced to the two routes it adds. Run from a folder holding keys/:
//   cd <dir with keys/public.key and keys/private.key> && PORT=0 node /path/to/app.js
// Prints "listening <port>" once it serves, so a test can read the port.
var express = require('express');
var publicRouter = require('./routes/publickey');
var privateRouter = require('./routes/privatekey');

var app = express();
app.use('/publickey', publicRouter);
app.use('/privatekey', privateRouter);

var server = app.listen(Number(process.env.PORT || 0), '127.0.0.1', function () {
  console.log('listening ' + server.address().port);
});
process.on('SIGTERM', function () { server.close(function () { process.exit(0); }); });
