import '../local/engine/promise-with-resolvers';
import 'aws-sdk-client-mock-vitest/extend';
