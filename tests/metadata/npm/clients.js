// SPDX-License-Identifier: GPL-2.0-only
//
// Real clients of the metadata and credentials endpoints, run inside a task namespace with the
// environment a container gets (ECS_CONTAINER_METADATA_URI_V4, AWS_CONTAINER_CREDENTIALS_RELATIVE_URI).
//   node clients.js detector             the OpenTelemetry ECS resource detector's attributes
//   node clients.js container-metadata   @aws-sdk/credential-providers fromContainerMetadata
//   node clients.js http                 @aws-sdk/credential-providers fromHttp
// Prints one JSON object; on failure {"error": ..., "message": ...} and exit status 1.
'use strict';

const { awsEcsDetector } = require('@opentelemetry/resource-detector-aws');
const { detectResources } = require('@opentelemetry/resources');
const { fromContainerMetadata, fromHttp } = require('@aws-sdk/credential-providers');

function credentials(c) {
	return {
		accessKeyId: c.accessKeyId,
		secretAccessKey: c.secretAccessKey,
		sessionToken: c.sessionToken,
		expiration: c.expiration instanceof Date ? c.expiration.toISOString() : null,
	};
}

async function main(mode) {
	switch (mode) {
	case 'detector': {
		const resource = detectResources({ detectors: [awsEcsDetector] });

		await resource.waitForAsyncAttributes?.();
		return resource.attributes;
	}
	case 'container-metadata':
		return credentials(await fromContainerMetadata({ timeout: 2000, maxRetries: 0 })());
	case 'http':
		return credentials(await fromHttp({ timeout: 2000, maxRetries: 0 })());
	default:
		throw new Error(`unknown mode '${mode}'`);
	}
}

main(process.argv[2]).then(
	(out) => console.log(JSON.stringify(out)),
	(e) => {
		console.log(JSON.stringify({ error: e.name, message: e.message, Code: e.Code ?? null,
					     statusCode: e.statusCode ?? null }));
		process.exitCode = 1;
	});
