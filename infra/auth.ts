import { env } from '@leadflow/aws/resources';
import { ROLE_GROUPS, ROLES, type Role } from '@leadflow/core';
import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import {
  AccountRecovery,
  CfnUserPoolRiskConfigurationAttachment,
  FeaturePlan,
  Mfa,
  OAuthScope,
  StandardThreatProtectionMode,
  UserPool,
  type UserPoolClient,
  UserPoolClientIdentityProvider,
  type UserPoolDomain,
  UserPoolGroup,
} from 'aws-cdk-lib/aws-cognito';
import { Construct } from 'constructs';
import type { LeadflowFunction } from './leadflow-function';

export interface AuthProps {
  /** Where the managed sign-in page returns the authorization code (the console's callback). */
  readonly callbackUrls: readonly string[];
  /** Where the managed sign-out returns. */
  readonly logoutUrls: readonly string[];
  /** Prefix of the Cognito-hosted sign-in domain (`<prefix>.auth.<region>.amazoncognito.com`); empty: none. */
  readonly domainPrefix: string;
}

const GROUP_IDS: Readonly<Record<Role, string>> = {
  admin: 'AdminGroup',
  team_lead: 'TeamLeadGroup',
  manager: 'ManagerGroup',
};

const GROUP_DESCRIPTIONS: Readonly<Record<Role, string>> = {
  admin: 'Everything, plus configuration, privacy requests and the audit trail',
  team_lead: 'Everything of the teams the configuration names them teamLead of',
  manager: 'Their own leads and contacts',
};

/**
 * Who may use the managers' API: a Cognito user pool (administrators create the users; no self sign-up),
 * the groups `admin`, `team_lead` and `manager` that map to leadflow's roles, and one public app client
 * for the console (authorization code with PKCE, no secret). Its access tokens are what the HTTP API's
 * JWT authorizer and the api function's own check (packages/aws/src/auth.ts) accept.
 */
export class Auth extends Construct {
  readonly userPool: UserPool;
  readonly client: UserPoolClient;
  readonly groups: Readonly<Record<Role, UserPoolGroup>>;
  readonly domain: UserPoolDomain | undefined;
  readonly riskConfiguration: CfnUserPoolRiskConfigurationAttachment;
  /** The tokens' `iss`: `https://cognito-idp.<region>.amazonaws.com/<poolId>`. */
  readonly issuer: string;
  /** `{issuer}/.well-known/jwks.json`. */
  readonly jwksUrl: string;

  constructor(scope: Construct, id: string, props: AuthProps) {
    super(scope, id);

    this.userPool = new UserPool(this, 'UserPool', {
      selfSignUpEnabled: false,
      // Managers sign in with their manager id (the username the configuration knows) or their email.
      signInAliases: { username: true, email: true },
      signInCaseSensitive: false,
      autoVerify: { email: true },
      standardAttributes: { email: { required: true, mutable: true } },
      passwordPolicy: {
        minLength: 12,
        requireLowercase: true,
        requireUppercase: true,
        requireDigits: true,
        requireSymbols: true,
        tempPasswordValidity: Duration.days(3),
        passwordHistorySize: 5,
      },
      mfa: Mfa.OPTIONAL,
      mfaSecondFactor: { otp: true, sms: false },
      accountRecovery: AccountRecovery.EMAIL_ONLY,
      // Plus: compromised-credential checks and adaptive authentication for the one door to the customer base.
      featurePlan: FeaturePlan.PLUS,
      standardThreatProtectionMode: StandardThreatProtectionMode.FULL_FUNCTION,
      userInvitation: {
        emailSubject: 'Your leadflow sign-in',
        emailBody:
          'You can now sign in to leadflow as {username} with the temporary password {####}. ' +
          'You will be asked to choose your own password.',
      },
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(this.userPool.node.defaultChild as Construct).acknowledge({
      id: 'AwsSolutions-COG2',
      reason:
        'MFA is offered (TOTP, no SMS) and optional, so each manager enrols an authenticator app on their own ' +
        'schedule; a business can make it mandatory by switching MfaConfiguration to ON. Meanwhile threat ' +
        'protection is enforced: a high-risk sign-in is blocked, a medium-risk one must pass MFA when the user ' +
        'has it, and compromised credentials are refused.',
    });
    // What threat protection does with a risky sign-in (without this attachment it would only score it).
    this.riskConfiguration = new CfnUserPoolRiskConfigurationAttachment(this, 'RiskConfiguration', {
      userPoolId: this.userPool.userPoolId,
      clientId: 'ALL',
      accountTakeoverRiskConfiguration: {
        actions: {
          highAction: { eventAction: 'BLOCK', notify: false },
          mediumAction: { eventAction: 'MFA_IF_CONFIGURED', notify: false },
          lowAction: { eventAction: 'NO_ACTION', notify: false },
        },
      },
      compromisedCredentialsRiskConfiguration: {
        actions: { eventAction: 'BLOCK' },
        eventFilter: ['SIGN_IN', 'PASSWORD_CHANGE', 'SIGN_UP'],
      },
    });

    this.groups = Object.fromEntries(
      ROLES.map((role, precedence) => [
        role,
        new UserPoolGroup(this, GROUP_IDS[role], {
          userPool: this.userPool,
          groupName: ROLE_GROUPS[role],
          description: GROUP_DESCRIPTIONS[role],
          // The most permissive first: `cognito:preferred_role` (unused) would name it.
          precedence,
        }),
      ]),
    ) as Record<Role, UserPoolGroup>;

    this.client = this.userPool.addClient('ConsoleClient', {
      userPoolClientName: 'leadflow-console',
      // A browser app keeps no secret: the code flow with PKCE protects the exchange instead.
      generateSecret: false,
      // SRP for scripts that sign in without a browser; never the plain-password flow.
      authFlows: { userSrp: true },
      oAuth: {
        flows: { authorizationCodeGrant: true },
        scopes: [OAuthScope.OPENID, OAuthScope.EMAIL, OAuthScope.PROFILE],
        callbackUrls: [...props.callbackUrls],
        logoutUrls: [...props.logoutUrls],
      },
      supportedIdentityProviders: [UserPoolClientIdentityProvider.COGNITO],
      accessTokenValidity: Duration.hours(1),
      idTokenValidity: Duration.hours(1),
      refreshTokenValidity: Duration.days(30),
      authSessionValidity: Duration.minutes(3),
      enableTokenRevocation: true,
      preventUserExistenceErrors: true,
    });

    this.domain = props.domainPrefix
      ? this.userPool.addDomain('Domain', { cognitoDomain: { domainPrefix: props.domainPrefix } })
      : undefined;

    // As CDK's own HttpUserPoolAuthorizer spells it: the `iss` of the pool's tokens.
    this.issuer = `https://cognito-idp.${Stack.of(this).region}.amazonaws.com/${this.userPool.userPoolId}`;
    this.jwksUrl = `${this.issuer}/.well-known/jwks.json`;
  }

  /** Tells a function which tokens to accept: this pool's access tokens for the console client. */
  bindTokenVerifier(fn: LeadflowFunction): this {
    fn.function.addEnvironment(env.authIssuer, this.issuer);
    fn.function.addEnvironment(env.authJwksUrl, this.jwksUrl);
    fn.function.addEnvironment(env.authClientId, this.client.userPoolClientId);
    return this;
  }
}
